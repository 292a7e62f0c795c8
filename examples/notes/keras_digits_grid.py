# The notes' Keras grid search on the 8x8 digits: a 64-100-50-10 network (sigmoid hidden layers,
# L2 penalties, softmax output) trained by plain SGD for every (learning rate, lambda) pair.
# Written as the notes write it for tf.keras; only the imports name chainrule.keras.
import numpy as np
import matplotlib.pyplot as plt
from sklearn import datasets

from chainrule.keras.layers import Input
from chainrule.keras.models import Sequential
from chainrule.keras.layers import Dense
from chainrule.keras import optimizers
from chainrule.keras import regularizers
from chainrule.keras.utils import to_categorical

from sklearn.model_selection import train_test_split

np.random.seed(0)

digits = datasets.load_digits()
inputs = digits.images
labels = digits.target
n_inputs = len(inputs)
inputs = inputs.reshape(n_inputs, -1)          # 8x8 images -> 64 features
print("X = (n_inputs, n_features) = " + str(inputs.shape))

labels = to_categorical(labels)                # one-hot rows for categorical cross-entropy

train_size = 0.8
test_size = 1 - train_size
X_train, X_test, Y_train, Y_test = train_test_split(inputs, labels, train_size=train_size, test_size=test_size)

epochs = 100
batch_size = 100
n_neurons_layer1 = 100
n_neurons_layer2 = 50
n_categories = 10
eta_vals = np.logspace(-5, 1, 7)
lmbd_vals = np.logspace(-5, 1, 7)


def create_neural_network_keras(n_neurons_layer1, n_neurons_layer2, n_categories, eta, lmbd):
    model = Sequential()
    model.add(Dense(n_neurons_layer1, activation='sigmoid', kernel_regularizer=regularizers.l2(lmbd)))
    model.add(Dense(n_neurons_layer2, activation='sigmoid', kernel_regularizer=regularizers.l2(lmbd)))
    model.add(Dense(n_categories, activation='softmax'))

    sgd = optimizers.SGD(lr=eta)
    model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
    return model


DNN_keras = np.zeros((len(eta_vals), len(lmbd_vals)), dtype=object)

for i, eta in enumerate(eta_vals):
    for j, lmbd in enumerate(lmbd_vals):
        DNN = create_neural_network_keras(n_neurons_layer1, n_neurons_layer2, n_categories, eta=eta, lmbd=lmbd)
        DNN.fit(X_train, Y_train, epochs=epochs, batch_size=batch_size, verbose=0)
        scores = DNN.evaluate(X_test, Y_test)
        DNN_keras[i][j] = DNN
        print("Learning rate = ", eta)
        print("Lambda = ", lmbd)
        print("Test accuracy: %.3f" % scores[1])
        print()

train_accuracy = np.zeros((len(eta_vals), len(lmbd_vals)))
test_accuracy = np.zeros((len(eta_vals), len(lmbd_vals)))
for i in range(len(eta_vals)):
    for j in range(len(lmbd_vals)):
        DNN = DNN_keras[i][j]
        train_accuracy[i][j] = DNN.evaluate(X_train, Y_train)[1]
        test_accuracy[i][j] = DNN.evaluate(X_test, Y_test)[1]

# the notes draw these with seaborn's heatmap; matplotlib's imshow shows the same grid
fig, ax = plt.subplots(figsize=(10, 10))
ax.imshow(test_accuracy, cmap="viridis")
ax.set_title("Test Accuracy")
ax.set_ylabel("$\\eta$")
ax.set_xlabel("$\\lambda$")
plt.show()
