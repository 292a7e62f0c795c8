# The notes' convolutional network on the 8x8 digits: Conv2D(n_filters, 3x3, ReLU, L2), 2x2 max
# pooling, a ReLU dense layer and a softmax, trained by SGD over a (learning rate, lambda) grid.
# Only the imports name chainrule.keras.
import numpy as np
import matplotlib.pyplot as plt
from sklearn import datasets

from chainrule.keras import datasets as keras_datasets, layers, models
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
inputs = inputs[:, :, :, np.newaxis]           # grey images have one channel: (n, 8, 8, 1)
print("inputs = (n_inputs, pixel_width, pixel_height, depth) = " + str(inputs.shape))

labels = to_categorical(labels)
train_size = 0.8
test_size = 1 - train_size
X_train, X_test, Y_train, Y_test = train_test_split(inputs, labels, train_size=train_size, test_size=test_size)


def create_convolutional_neural_network_keras(input_shape, receptive_field, n_filters, n_neurons_connected,
                                              n_categories, eta, lmbd):
    model = Sequential()
    model.add(layers.Conv2D(n_filters, (receptive_field, receptive_field), input_shape=input_shape,
                            activation='relu', kernel_regularizer=regularizers.l2(lmbd)))
    model.add(layers.MaxPooling2D(pool_size=(2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(n_neurons_connected, activation='relu', kernel_regularizer=regularizers.l2(lmbd)))
    model.add(layers.Dense(n_categories, activation='softmax', kernel_regularizer=regularizers.l2(lmbd)))
    sgd = optimizers.SGD(lr=eta)
    model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
    return model


epochs = 100
batch_size = 100
input_shape = X_train.shape[1:4]
receptive_field = 3
n_filters = 10
n_neurons_connected = 50
n_categories = 10
eta_vals = np.logspace(-5, 1, 7)
lmbd_vals = np.logspace(-5, 1, 7)

CNN_keras = np.zeros((len(eta_vals), len(lmbd_vals)), dtype=object)
for i, eta in enumerate(eta_vals):
    for j, lmbd in enumerate(lmbd_vals):
        CNN = create_convolutional_neural_network_keras(input_shape, receptive_field, n_filters,
                                                        n_neurons_connected, n_categories, eta, lmbd)
        CNN.fit(X_train, Y_train, epochs=epochs, batch_size=batch_size, verbose=0)
        scores = CNN.evaluate(X_test, Y_test)
        CNN_keras[i][j] = CNN
        print("Learning rate = ", eta)
        print("Lambda = ", lmbd)
        print("Test accuracy: %.3f" % scores[1])
        print()

train_accuracy = np.zeros((len(eta_vals), len(lmbd_vals)))
test_accuracy = np.zeros((len(eta_vals), len(lmbd_vals)))
for i in range(len(eta_vals)):
    for j in range(len(lmbd_vals)):
        CNN = CNN_keras[i][j]
        train_accuracy[i][j] = CNN.evaluate(X_train, Y_train)[1]
        test_accuracy[i][j] = CNN.evaluate(X_test, Y_test)[1]

fig, ax = plt.subplots(figsize=(10, 10))
ax.imshow(test_accuracy, cmap="viridis")
ax.set_title("Test Accuracy")
plt.show()
