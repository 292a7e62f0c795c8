# The notes' Keras breast-cancer classifier: four of the 30 features, two ReLU hidden layers of
# n_neuron units with L2 penalties, a softmax over the two classes, SGD over a grid of learning
# rates and widths.  Only the imports name chainrule.keras.
import numpy as np
import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split as splitter
from sklearn.datasets import load_breast_cancer

from chainrule.keras.layers import Input
from chainrule.keras.models import Sequential
from chainrule.keras.layers import Dense
from chainrule.keras import optimizers
from chainrule.keras import regularizers
from chainrule.keras.utils import to_categorical

np.random.seed(0)

cancer = load_breast_cancer()
inputs = cancer.data          # 569 samples, 30 features
outputs = cancer.target       # 0 benign, 1 malignant
labels = cancer.feature_names[0:30]
print("inputs = " + str(inputs.shape))

x = inputs
y = outputs

# texture, perimeter, compactness and symmetry as the network's inputs
temp1 = np.reshape(x[:, 1], (len(x[:, 1]), 1))
temp2 = np.reshape(x[:, 2], (len(x[:, 2]), 1))
X = np.hstack((temp1, temp2))
temp = np.reshape(x[:, 5], (len(x[:, 5]), 1))
X = np.hstack((X, temp))
temp = np.reshape(x[:, 8], (len(x[:, 8]), 1))
X = np.hstack((X, temp))

X_train, X_test, y_train, y_test = splitter(X, y, test_size=0.1)
y_train = to_categorical(y_train)
y_test = to_categorical(y_test)
del temp1, temp2, temp

eta = np.logspace(-3, -1, 3)
lamda = 0.01
n_layers = 2
n_neuron = np.logspace(0, 3, 4, dtype=int)
epochs = 100
batch_size = 100


def NN_model(inputsize, n_layers, n_neuron, eta, lamda):
    model = Sequential()
    for i in range(n_layers):
        if (i == 0):   # the notes' comment says the first layer needs the input size; Keras infers it
            model.add(Dense(n_neuron, activation='relu', kernel_regularizer=regularizers.l2(lamda)),)
        else:
            model.add(Dense(n_neuron, activation='relu', kernel_regularizer=regularizers.l2(lamda)))
    model.add(Dense(2, activation='softmax'))
    sgd = optimizers.SGD(lr=eta)
    model.compile(loss='categorical_crossentropy', optimizer=sgd, metrics=['accuracy'])
    return model


Train_accuracy = np.zeros((len(n_neuron), len(eta)))
Test_accuracy = np.zeros((len(n_neuron), len(eta)))

for i in range(len(n_neuron)):
    for j in range(len(eta)):
        DNN_model = NN_model(X_train.shape[1], n_layers, n_neuron[i], eta[j], lamda)
        DNN_model.fit(X_train, y_train, epochs=epochs, batch_size=batch_size, verbose=1)
        Train_accuracy[i, j] = DNN_model.evaluate(X_train, y_train)[1]
        Test_accuracy[i, j] = DNN_model.evaluate(X_test, y_test)[1]

fig, ax = plt.subplots(figsize=(8, 8))
ax.imshow(Test_accuracy, cmap="viridis")
ax.set_title("Test Accuracy")
ax.set_ylabel("neurons per layer")
ax.set_xlabel("$\\eta$")
plt.show()
