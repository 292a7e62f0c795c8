# The notes' extrapolation with recurrent networks: the pairing model's correlation energies for
# 2, 4, ..., 40 particles, of which the networks see the first 12 as sequences (y1, y2) -> y3 and
# then predict the rest one point at a time.  Four functional models (Input(batch_shape=...),
# layers called on it, Model(inputs=[inp], outputs=[dens])), Adam and mean squared error, 150
# epochs with batch_size=None and 5% held out; then the "standard way", the number of particles
# itself as a sequence of length 1.  Only the imports name chainrule.keras; the energies come from
# chainrule.datasets (the notes type them out).
import numpy as np
from timeit import default_timer as timer
import matplotlib.pyplot as plt

from chainrule.keras import datasets, layers, models
from chainrule.keras.layers import Input
from chainrule.keras import regularizers
from chainrule.keras.models import Model, Sequential
from chainrule.keras.layers import Dense, SimpleRNN, LSTM, GRU
from chainrule.datasets import pairing_energies

datatype = 'VaryDimension'
X_tot, y_tot = pairing_energies()
epochs = 150
networks = ["rnn", "rnn_2layers", "lstm_2layers", "dnn2_gru2"]


def format_data(data, length_of_sequence=2):
    """Windows of `length_of_sequence` values (each reshaped to (length, 1)) and the value after each."""
    X, Y = [], []
    for i in range(len(data) - length_of_sequence):
        a = data[i:i + length_of_sequence]
        b = data[i + length_of_sequence]
        a = np.reshape(a, (len(a), 1))
        X.append(a)
        Y.append(b)
    return np.array(X), np.array(Y)


def rnn(length_of_sequences, batch_size=None, stateful=False):
    in_out_neurons = 1
    hidden_neurons = 200
    inp = Input(batch_shape=(batch_size, length_of_sequences, in_out_neurons))
    rnn = SimpleRNN(hidden_neurons, return_sequences=False, stateful=stateful, name="RNN")(inp)
    dens = Dense(in_out_neurons, name="dense")(rnn)
    model = Model(inputs=[inp], outputs=[dens])
    model.compile(loss="mean_squared_error", optimizer="adam")
    return model


def rnn_2layers(length_of_sequences, batch_size=None, stateful=False):
    in_out_neurons = 1
    hidden_neurons = 500
    inp = Input(batch_shape=(batch_size, length_of_sequences, in_out_neurons))
    rnn1 = SimpleRNN(hidden_neurons, return_sequences=True, stateful=stateful, activation='sigmoid',
                     name="RNN1")(inp)
    rnn2 = SimpleRNN(hidden_neurons, return_sequences=False, activation='sigmoid', stateful=stateful,
                     name="RNN2")(rnn1)
    dens = Dense(in_out_neurons, name="dense")(rnn2)
    model = Model(inputs=[inp], outputs=[dens])
    model.compile(loss="mean_squared_error", optimizer="adam")
    return model


def lstm_2layers(length_of_sequences, batch_size=None, stateful=False):
    in_out_neurons = 1
    hidden_neurons = 250
    inp = Input(batch_shape=(batch_size, length_of_sequences, in_out_neurons))
    rnn = LSTM(hidden_neurons, return_sequences=True, stateful=stateful, name="RNN", use_bias=True,
               activation='tanh')(inp)
    rnn1 = LSTM(hidden_neurons, return_sequences=False, stateful=stateful, name="RNN1", use_bias=True,
                activation='tanh')(rnn)
    dens = Dense(in_out_neurons, name="dense")(rnn1)
    model = Model(inputs=[inp], outputs=[dens])
    model.compile(loss='mean_squared_error', optimizer='adam')
    return model


def dnn2_gru2(length_of_sequences, batch_size=None, stateful=False):
    in_out_neurons = 1
    hidden_neurons = 250
    inp = Input(batch_shape=(batch_size, length_of_sequences, in_out_neurons))
    dnn = Dense(hidden_neurons / 2, activation='relu', name='dnn')(inp)        # 125.0 units, as tf.keras 2 took it
    dnn1 = Dense(hidden_neurons / 2, activation='relu', name='dnn1')(dnn)
    rnn1 = GRU(hidden_neurons, return_sequences=True, stateful=stateful, name="RNN1", use_bias=True)(dnn1)
    rnn = GRU(hidden_neurons, return_sequences=False, stateful=stateful, name="RNN", use_bias=True)(rnn1)
    dens = Dense(in_out_neurons, name="dense")(rnn)
    model = Model(inputs=[inp], outputs=[dens])
    model.compile(loss='mean_squared_error', optimizer='adam')
    return model


def test_rnn(x1, y_test, plot_min, plot_max):
    """Extrapolate: the known first `dim` points, then each next point from the two before it.
    (The notes build the window as [[y_{t-1}], [y_t]] and keep the whole prediction array as `last`,
    which numpy 2 refuses to stack; here the window is (1, 2, 1) and `last` the predicted value.)"""
    y_pred = y_test[:dim].tolist()
    next_input = np.array([[[y_test[dim - 2]], [y_test[dim - 1]]]])
    last = [y_test[dim - 1]]
    for i in range(dim, len(y_test)):
        next = model.predict(next_input)
        y_pred.append(next[0][0])
        next_input = np.array([[last, next[0]]], dtype=np.float64)
        last = next[0]
    mse = np.square(np.subtract(y_test, y_pred)).mean()
    print('MSE: ', mse)
    fig, ax = plt.subplots()
    ax.plot(x1, y_test, label="true", linewidth=3)
    ax.plot(x1, y_pred, 'g-.', label="predicted", linewidth=4)
    ax.legend()
    ax.axvspan(plot_min, plot_max, alpha=0.25, color='red')
    plt.show()
    return mse


assert len(X_tot) == len(y_tot)
dim = 12
X_train = X_tot[:dim]
y_train = y_tot[:dim]
rnn_input, rnn_training = format_data(y_train, 2)

results = {}
builders = {"rnn": rnn, "rnn_2layers": rnn_2layers, "lstm_2layers": lstm_2layers, "dnn2_gru2": dnn2_gru2}
for name in networks:
    model = builders[name](length_of_sequences=rnn_input.shape[1])
    model.summary()
    start = timer()
    hist = model.fit(rnn_input, rnn_training, batch_size=None, epochs=epochs, verbose=True, validation_split=0.05)
    for label in ["loss", "val_loss"]:
        plt.plot(hist.history[label], label=label)
    plt.title("The final validation loss: {}".format(hist.history["val_loss"][-1]))
    plt.legend()
    plt.show()
    results[name] = test_rnn(X_tot, y_tot, X_tot[0], X_tot[dim - 1])
    end = timer()
    print('Time: ', end - start)

# the standard way: x itself (one value per sequence) -> y, which cannot extrapolate in x
X_train = X_train.reshape((dim, 1))
y_train = y_train.reshape((dim, 1))
model = rnn(length_of_sequences=1)
model.summary()
hist = model.fit(X_train, y_train, batch_size=None, epochs=epochs, verbose=True, validation_split=0.05)
X_pred = X_tot[dim:]
X_pred = X_pred.reshape((len(X_pred), 1))
y_model = model.predict(X_pred)
y_pred = np.concatenate((y_tot[:dim], y_model.flatten()))
standard_mse = np.square(y_pred - y_tot).mean()
print('MSE (standard way): ', standard_mse)
